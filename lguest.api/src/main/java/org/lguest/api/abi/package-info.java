/**
 * The numbers of the lguest ABI, exactly as Linux's lguest used them: device
 * requests, hypercalls, errno values, register selectors and the layout of
 * {@code struct lguest_data}. Facts, not policy.
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.0.0")
package org.lguest.api.abi;
