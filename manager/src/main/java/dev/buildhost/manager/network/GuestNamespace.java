package dev.buildhost.manager.network;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * The network namespace a container's veth end moves into: a named one ({@code ip netns add}, as
 * tests make) or a running process's (a Docker container's, found by its PID).
 */
public sealed interface GuestNamespace {

  /** What {@code ip link set ... netns} takes: the name or the PID. */
  String target();

  /** The command that runs ip(8) with {@code args} inside the namespace. */
  List<String> ip(String... args);

  /** A namespace made with {@code ip netns add NAME}. */
  record Named(String name) implements GuestNamespace {
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9_.-]{1,64}");

    public Named {
      if (name == null || !NAME.matcher(name).matches() || name.equals(".") || name.equals("..")) {
        throw new IllegalArgumentException(
            "network namespace name '" + name + "' must be 1-64 of A-Z a-z 0-9 _ . -");
      }
    }

    @Override
    public String target() {
      return name;
    }

    @Override
    public List<String> ip(String... args) {
      List<String> command = new ArrayList<>(List.of("ip", "-n", name));
      command.addAll(List.of(args));
      return command;
    }
  }

  /**
   * The namespace of a running process, e.g. a container's init as the Docker engine reports it.
   */
  record OfProcess(long pid) implements GuestNamespace {
    public OfProcess {
      if (pid <= 1) {
        throw new IllegalArgumentException(
            "process id " + pid + " cannot own a guest's network namespace");
      }
    }

    @Override
    public String target() {
      return Long.toString(pid);
    }

    @Override
    public List<String> ip(String... args) {
      List<String> command =
          new ArrayList<>(List.of("nsenter", "-t", Long.toString(pid), "-n", "ip"));
      command.addAll(List.of(args));
      return command;
    }
  }
}
