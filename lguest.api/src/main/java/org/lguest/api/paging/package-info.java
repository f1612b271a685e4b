/**
 * The page-table SPI: shadow page tables for a guest's own page
 * directories, as lguest's page_tables.c keeps them. Every guest entry is
 * checked against the page-frame limit before it reaches a shadow, so the
 * guest reaches nothing but its own RAM.
 * <p>
 * 1.1: {@link org.lguest.api.paging.PageTableManager#description}, with a
 * default, for listings.
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.1.0")
package org.lguest.api.paging;
