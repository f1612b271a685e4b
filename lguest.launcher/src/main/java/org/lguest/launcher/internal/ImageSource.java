package org.lguest.launcher.internal;

import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.URL;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

import org.lguest.api.guest.LaunchException;

/**
 * The bytes of a kernel or an initrd, read only where they are needed: a
 * file through its channel (a vmlinux with debug information can be hundreds
 * of MiB, of which the guest needs a few), a bundled image from memory. Every
 * read is of an exact range the caller has checked against {@link #size()}.
 */
abstract sealed class ImageSource implements Closeable {
    /** A bundled image is read whole: none of ours comes near this. */
    static final int MAX_BUNDLED_BYTES = 64 << 20;

    private final String name;

    private ImageSource(String name) {
        this.name = name;
    }

    /** What error messages call it: the image name or the path given. */
    final String name() {
        return name;
    }

    abstract long size();

    /** Fills {@code target} with the bytes from {@code offset}; the range lies inside the source. */
    abstract void read(long offset, MemorySegment target) throws LaunchException;

    /** A small range, for headers. */
    final byte[] bytes(long offset, int length) throws LaunchException {
        byte[] into = new byte[length];
        read(offset, MemorySegment.ofArray(into));
        return into;
    }

    @Override
    public void close() {
    }

    /** A regular file, refused before anything is read when it is not one. */
    static ImageSource ofFile(String name, Path path, String what) throws LaunchException {
        if (!Files.exists(path)) {
            throw new LaunchException("no " + what + " file " + name);
        }
        if (!Files.isRegularFile(path)) {
            throw new LaunchException("cannot use " + name + " as " + what + ": it is not a regular file");
        }
        try {
            return new FromFile(name, FileChannel.open(path, StandardOpenOption.READ));
        } catch (NoSuchFileException e) {
            throw new LaunchException("no " + what + " file " + name);
        } catch (IOException e) {
            throw new LaunchException("cannot read " + what + " " + name + ": " + e.getMessage(), e);
        }
    }

    static ImageSource ofBundle(String name, URL url) throws LaunchException {
        try (InputStream in = url.openStream()) {
            byte[] bytes = in.readNBytes(MAX_BUNDLED_BYTES + 1);
            if (bytes.length > MAX_BUNDLED_BYTES) {
                throw new LaunchException("cannot boot " + name + ": the bundled image is larger than "
                    + (MAX_BUNDLED_BYTES >> 20) + " MiB");
            }
            return new FromBytes(name, bytes);
        } catch (IOException e) {
            throw new LaunchException("cannot read guest image " + name + ": " + e.getMessage(), e);
        }
    }

    static ImageSource ofBytes(String name, byte[] bytes) {
        return new FromBytes(name, bytes);
    }

    private static final class FromBytes extends ImageSource {
        private final byte[] bytes;

        FromBytes(String name, byte[] bytes) {
            super(name);
            this.bytes = bytes;
        }

        @Override
        long size() {
            return bytes.length;
        }

        @Override
        void read(long offset, MemorySegment target) {
            MemorySegment.copy(bytes, (int) offset, target, ValueLayout.JAVA_BYTE, 0, (int) target.byteSize());
        }
    }

    private static final class FromFile extends ImageSource {
        private final FileChannel channel;
        private final long size;

        FromFile(String name, FileChannel channel) throws IOException {
            super(name);
            this.channel = channel;
            this.size = channel.size();
        }

        @Override
        long size() {
            return size;
        }

        @Override
        void read(long offset, MemorySegment target) throws LaunchException {
            // asByteBuffer holds at most 2 GiB, and guest RAM is at most that.
            ByteBuffer buffer = target.asByteBuffer();
            try {
                while (buffer.hasRemaining()) {
                    int n = channel.read(buffer, offset + buffer.position());
                    if (n < 0) {
                        throw new LaunchException("cannot read " + name() + ": it became shorter while being read");
                    }
                }
            } catch (IOException e) {
                throw new LaunchException("cannot read " + name() + ": " + e.getMessage(), e);
            }
        }

        @Override
        public void close() {
            try {
                channel.close();
            } catch (IOException e) {
                // Only read from: nothing was lost.
            }
        }
    }
}
