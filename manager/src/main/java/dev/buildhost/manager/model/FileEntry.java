package dev.buildhost.manager.model;

import java.time.Instant;

/** A file in an instance's TFTP folder. */
public record FileEntry(String name, long size, Instant modified) {}
