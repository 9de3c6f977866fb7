package dev.buildhost.monitor.config;

import dev.buildhost.monitor.trust.PinnedKey;
import java.net.URI;

/**
 * One toolchain the host serves: {@code toolchain_url.<name>} (or {@code toolchain_url} with {@code
 * toolchain_name}) and its trust. Each is bootstrapped, published under {@code
 * <root>/tftp/toolchain/<name>/}, watched and given its own agent.
 *
 * @param name the folder name under {@code <root>/tftp/toolchain/}, and what {@code {toolchain}}
 *     stands for in agent_unit and agent_command
 * @param url the checksum file
 * @param trust toolchain_trust as written for this toolchain, or null
 * @param trustedKey the key that must have signed the checksum file, or null
 * @param origin the setting that named this toolchain, for messages
 */
public record Toolchain(String name, URI url, String trust, PinnedKey trustedKey, String origin) {

  /** The placeholder in agent_unit and agent_command that stands for the toolchain's name. */
  public static final String PLACEHOLDER = "{toolchain}";

  /**
   * The agent unit for this toolchain: {@code {toolchain}} replaced by the name, and a template
   * ({@code bbot-agent@.service}) instantiated with it ({@code bbot-agent@stage.service}).
   */
  public String agentUnit(String unit) {
    return agentUnitFor(unit, name);
  }

  /** The agent command for this toolchain: {@code {toolchain}} replaced by the name. */
  public String agentCommand(String command) {
    return command.replace(PLACEHOLDER, name);
  }

  static String agentUnitFor(String unit, String name) {
    String u = unit.replace(PLACEHOLDER, name);
    return isTemplate(u) ? u.replace("@.", "@" + name + ".") : u;
  }

  /** A systemd template unit name such as {@code bbot-agent@.service}: it needs an instance. */
  static boolean isTemplate(String unit) {
    return unit.matches("[^@]+@\\.[A-Za-z]+");
  }
}
