/**
 * The numbers of the lguest ABI, as Linux 4.9's lguest used them: device
 * requests, hypercalls, errno values, register selectors and the layout of
 * {@code struct lguest_data}, and the one encoding of the protocol's words
 * and pending-trap records that both the Host and the Launcher use. Facts,
 * not policy.
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("2.1.0")
package org.lguest.api.abi;
