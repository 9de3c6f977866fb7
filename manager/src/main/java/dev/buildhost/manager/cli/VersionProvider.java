package dev.buildhost.manager.cli;

import picocli.CommandLine;

/** The version from the jar manifest (set by Maven), so there is one source of truth. */
final class VersionProvider implements CommandLine.IVersionProvider {
  @Override
  public String[] getVersion() {
    String version = BuildhostCommand.class.getPackage().getImplementationVersion();
    return new String[] {"buildhost " + (version == null ? "(development build)" : version)};
  }
}
