package dev.buildhost.monitor;

import dev.buildhost.monitor.agent.Agent;
import dev.buildhost.monitor.bootstrap.ToolchainBootstrap;
import dev.buildhost.monitor.config.Toolchain;
import dev.buildhost.monitor.trust.ChecksumFileTrust;

/**
 * One toolchain the monitor serves, and where it stands in this run: bootstrapped and published yet
 * or not, its agent started or not. Each toolchain goes its own way: one that fails to bootstrap
 * does not hold back the others' agents.
 */
final class ServedToolchain {
  final Toolchain spec;
  final ToolchainBootstrap bootstrap;

  /** Checks the signature of the watched checksum file, or null without toolchain_trust. */
  final ChecksumFileTrust watchTrust;

  /** What this run published (the baseline of its watch), or null before that. */
  ToolchainBootstrap.Published published;

  /** Its agent once started, or null. */
  Agent agent;

  boolean agentStarted;

  ServedToolchain(Toolchain spec, ToolchainBootstrap bootstrap, ChecksumFileTrust watchTrust) {
    this.spec = spec;
    this.bootstrap = bootstrap;
    this.watchTrust = watchTrust;
  }

  String name() {
    return spec.name();
  }
}
