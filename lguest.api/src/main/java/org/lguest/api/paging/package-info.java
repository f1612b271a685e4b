/**
 * The page-table SPI: shadow page tables for a guest's own page
 * directories, as lguest's page_tables.c keeps them. Every guest entry is
 * checked against the page-frame limit before it reaches a shadow, so the
 * guest reaches nothing but its own RAM.
 * <p>
 * 1.1: {@link org.lguest.api.paging.PageTableManager#description}, with a
 * default, for listings.
 * <p>
 * 1.2: {@link org.lguest.api.paging.GuestPageTables#switchPgtable}, which says
 * whether a shadow was made or recycled, so that switching to a cached,
 * unchanged directory needs no TLB flush; its default always asks for one.
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.2.0")
package org.lguest.api.paging;
