package dev.buildhost.manager.backend;

import java.nio.file.Path;

/**
 * A bootstrapped state an instance starts from instead of the bare revision: for a VM the qcow2
 * layer over the revision's disk (the instance's overlay goes over it), for a container the image
 * the bootstrap container was committed to.
 *
 * @param stateId the state's id, recorded with the instance
 * @param disk the VM layer (read-only), or null for a container
 * @param image the committed image's id, or null for a VM
 */
public record StartLayer(String stateId, Path disk, String image) {}
