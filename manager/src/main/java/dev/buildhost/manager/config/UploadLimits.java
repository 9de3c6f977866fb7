package dev.buildhost.manager.config;

import dev.buildhost.manager.machine.Manifest;

/**
 * What a guest may upload into its instance's writable TFTP folder: all files together ({@code
 * quotaBytes}, counting what the host put there) and one file ({@code maxFileBytes}). A guest that
 * writes past either gets a TFTP error naming the limit; nothing of the refused file stays.
 *
 * @param quotaBytes bytes the instance's folder may hold in all
 * @param maxFileBytes bytes one uploaded file may have
 */
public record UploadLimits(long quotaBytes, long maxFileBytes) {

  private static final long MIB = 1024L * 1024L;

  /** 1 GiB in all, 512 MiB per file: room for a build's logs and result archive, not a disk. */
  public static final UploadLimits DEFAULTS = new UploadLimits(1024 * MIB, 512 * MIB);

  public UploadLimits {
    if (quotaBytes < 1) {
      throw new IllegalArgumentException(
          "TFTP upload quota must be at least 1 byte, not " + quotaBytes);
    }
    if (maxFileBytes < 1) {
      throw new IllegalArgumentException(
          "TFTP largest file size must be at least 1 byte, not " + maxFileBytes);
    }
  }

  /**
   * These limits with what the machine's manifest sets ({@code tftp-upload-quota}, {@code
   * tftp-max-file}) instead.
   */
  public UploadLimits overriddenBy(Manifest machine) {
    return new UploadLimits(
        machine.tftpUploadQuotaBytes() != null ? machine.tftpUploadQuotaBytes() : quotaBytes,
        machine.tftpMaxFileBytes() != null ? machine.tftpMaxFileBytes() : maxFileBytes);
  }
}
