package org.lguest.bench;

import java.util.Arrays;
import java.util.Collection;

/** Order statistics of a sample. */
record Stats(double[] sorted) {

    static Stats of(Collection<? extends Number> values) {
        double[] v = values.stream().mapToDouble(Number::doubleValue).sorted().toArray();
        if (v.length == 0) {
            throw new IllegalArgumentException("no samples");
        }
        return new Stats(v);
    }

    static Stats of(double... values) {
        double[] v = values.clone();
        Arrays.sort(v);
        return new Stats(v);
    }

    /** Linear interpolation between the closest ranks. */
    double percentile(double p) {
        double rank = p / 100 * (sorted.length - 1);
        int lo = (int) Math.floor(rank), hi = (int) Math.ceil(rank);
        return sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo);
    }

    double median() {
        return percentile(50);
    }

    double min() {
        return sorted[0];
    }

    double max() {
        return sorted[sorted.length - 1];
    }

    int count() {
        return sorted.length;
    }

    /** Half the interquartile range, relative to the median, in percent. */
    double spreadPercent() {
        return (percentile(75) - percentile(25)) / 2 / median() * 100;
    }
}
