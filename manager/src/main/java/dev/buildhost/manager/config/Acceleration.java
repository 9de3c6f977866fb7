package dev.buildhost.manager.config;

/** How VMs are accelerated: {@code auto} probes whether KVM really works and falls back to TCG. */
public enum Acceleration {
  AUTO,
  KVM,
  TCG
}
