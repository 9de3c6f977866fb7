package dev.buildhost.monitor.notify;

import dev.buildhost.monitor.config.MonitorConfig;
import java.io.IOException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Tells the admin: always in the log, and by email when smtp_relay and admin_email are set. Never
 * throws.
 */
public final class Notifier {
  private static final Logger LOG = LoggerFactory.getLogger(Notifier.class);
  private final MonitorConfig cfg;
  private final String host;

  public Notifier(MonitorConfig cfg) {
    this.cfg = cfg;
    this.host = MonitorConfig.hostName();
  }

  /**
   * @return true if an email went out
   */
  public boolean notify(String subject, String body) {
    LOG.warn("notice: {}: {}", subject, body);
    if (cfg.smtpRelay() == null || cfg.adminEmail().isEmpty()) {
      return false;
    }
    try {
      SmtpClient.forRelay(cfg.smtpRelay(), host, cfg.smtpTimeout())
          .send(cfg.mailFrom(), cfg.adminEmail(), "buildhost " + host + ": " + subject, body);
      LOG.info("notice mailed to {} through {}", cfg.adminEmail(), cfg.smtpRelay());
      return true;
    } catch (IOException | RuntimeException e) {
      LOG.warn("cannot mail the notice through {}: {}", cfg.smtpRelay(), e.toString());
      return false;
    }
  }
}
