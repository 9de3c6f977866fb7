package dev.buildhost.manager.instance;

public enum InstanceState { STARTING, RUNNING, STOPPING, STOPPED }
