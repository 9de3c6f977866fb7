package dev.buildhost.client.wire;

/**
 * The body of every error answer.
 *
 * @param error what went wrong
 * @param hint what to do about it
 */
public record ApiError(String error, String hint) {}
