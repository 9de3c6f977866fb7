package dev.buildhost.manager.model;

/**
 * Where an instance is in its life. STOPPED is final. UNKNOWN is outside the lifecycle: the
 * instance's journal record cannot be read, so the daemon keeps its guest, folders and TFTP port
 * and does nothing with them until an operator terminates or deletes it.
 */
public enum InstanceState {
  STARTING,
  RUNNING,
  STOPPING,
  STOPPED,
  UNKNOWN
}
