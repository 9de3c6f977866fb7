package dev.buildhost.manager.backend;

import java.nio.file.Path;

/**
 * What a backend kept of a stopped guest ({@link KeepsGuestDisk#keep}).
 *
 * @param disk the VM's overlay, moved out of the instance folder; null for a container
 * @param image the id of the image the container was committed to; null for a VM
 */
public record KeptDisk(Path disk, String image) {}
