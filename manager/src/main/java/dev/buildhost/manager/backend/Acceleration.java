package dev.buildhost.manager.backend;

/**
 * How a backend's virtual machines are accelerated.
 *
 * @param mode {@code kvm} or {@code tcg}
 * @param reason why: the probe's finding, or the setting
 */
public record Acceleration(String mode, String reason) {}
