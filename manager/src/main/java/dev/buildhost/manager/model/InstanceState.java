package dev.buildhost.manager.model;

public enum InstanceState {
  STARTING,
  RUNNING,
  STOPPING,
  STOPPED
}
