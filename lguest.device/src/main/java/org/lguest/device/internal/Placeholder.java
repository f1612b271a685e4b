package org.lguest.device.internal;
class Placeholder {}
