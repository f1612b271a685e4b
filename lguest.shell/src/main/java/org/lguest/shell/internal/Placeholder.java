package org.lguest.shell.internal;
class Placeholder {}
