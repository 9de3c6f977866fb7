package dev.buildhost.manager.model;

/** The manifest's {@code type}: which backend runs instances of the machine. */
public enum MachineType {
  KVM("kvm"),
  DOCKER("docker");

  private final String manifestValue;

  MachineType(String manifestValue) {
    this.manifestValue = manifestValue;
  }

  public String manifestValue() {
    return manifestValue;
  }
}
