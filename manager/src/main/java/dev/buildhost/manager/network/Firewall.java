package dev.buildhost.manager.network;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * buildhost's own nftables tables: created when absent, adopted when present (a restarted daemon
 * keeps its running guests' rules), changed only through one-transaction scripts, and never any
 * other table.
 */
public final class Firewall {
  private static final List<String> FAMILIES = List.of("bridge", "inet");

  private final GuestNetwork network;
  private final Ruleset ruleset;
  private final HostCommands commands;
  private final ObjectMapper json = new ObjectMapper();

  public Firewall(GuestNetwork network, HostCommands commands) {
    this.network = network;
    this.ruleset = new Ruleset(network);
    this.commands = commands;
  }

  /**
   * Creates both tables, or adopts them when both are there: their per-guest rules stay, their base
   * rules become the current ones (an older daemon may have written others; {@link
   * Ruleset#refreshBase}). A half-present pair is rebuilt.
   */
  public void ensureTables() throws NetworkException {
    boolean bridge = tableExists("bridge");
    boolean inet = tableExists("inet");
    if (bridge && inet) {
      apply(
          "bring the base rules of the nftables tables '"
              + network.tableName()
              + "' to the current ones",
          ruleset.refreshBase(listRules(false)));
      return;
    }
    StringBuilder script = new StringBuilder();
    if (bridge) {
      script.append("delete table bridge ").append(network.tableName()).append('\n');
    }
    if (inet) {
      script.append("delete table inet ").append(network.tableName()).append('\n');
    }
    script.append(ruleset.tables());
    apply("create the nftables tables '" + network.tableName() + "'", script.toString());
  }

  public boolean tableExists(String family) throws NetworkException {
    return commands
            .execute(
                "look for nftables table " + family + " " + network.tableName(),
                List.of("nft", "list", "table", family, network.tableName()),
                null)
            .exitCode()
        == 0;
  }

  /**
   * Adds one guest's rules; its old rules, if any (a retried start), go in the same transaction.
   */
  public void addGuest(GuestRules guest) throws NetworkException {
    String id = guest.port().instanceId();
    List<FirewallRule> old = rules().stream().filter(rule -> rule.instanceId().equals(id)).toList();
    apply(
        "add the firewall rules of instance " + id,
        ruleset.deleteRules(old) + ruleset.addGuest(guest));
  }

  /** Removes every rule of the instance, in one transaction; nothing to remove is fine. */
  public void removeGuest(String instanceId) throws NetworkException {
    List<FirewallRule> rules =
        rules().stream().filter(rule -> rule.instanceId().equals(instanceId)).toList();
    if (!rules.isEmpty()) {
      apply("remove the firewall rules of instance " + instanceId, ruleset.deleteRules(rules));
    }
  }

  /** Every per-guest rule in our tables, read back from nft with its handle and instance id. */
  public List<FirewallRule> rules() throws NetworkException {
    return listRules(true);
  }

  /**
   * The rules of our tables with an instance's comment ({@code perGuest}), or all the others (the
   * base rules, whose instance id is then empty).
   */
  private List<FirewallRule> listRules(boolean perGuest) throws NetworkException {
    List<FirewallRule> found = new ArrayList<>();
    for (String family : FAMILIES) {
      if (!tableExists(family)) {
        continue;
      }
      String text =
          commands.run(
              "list nftables table " + family + " " + network.tableName(),
              List.of("nft", "-j", "-a", "list", "table", family, network.tableName()));
      JsonNode root;
      try {
        root = json.readTree(text);
      } catch (java.io.IOException e) {
        throw new NetworkException(
            "cannot read nft's listing of table "
                + family
                + " "
                + network.tableName()
                + ": "
                + e.getMessage(),
            e);
      }
      for (JsonNode item : root.path("nftables")) {
        JsonNode rule = item.get("rule");
        if (rule == null) {
          continue;
        }
        String comment = rule.path("comment").asText("");
        boolean guests = comment.startsWith(Ruleset.COMMENT_PREFIX);
        if (guests == perGuest) {
          found.add(
              new FirewallRule(
                  family,
                  rule.path("chain").asText(),
                  rule.path("handle").asLong(),
                  guests ? comment.substring(Ruleset.COMMENT_PREFIX.length()) : ""));
        }
      }
    }
    return found;
  }

  /** The instances that have rules. */
  public Set<String> instanceIds() throws NetworkException {
    Set<String> ids = new TreeSet<>();
    rules().forEach(rule -> ids.add(rule.instanceId()));
    return ids;
  }

  /** Both tables, gone; absent tables are fine. */
  public void deleteTables() throws NetworkException {
    for (String family : FAMILIES) {
      if (tableExists(family)) {
        apply(
            "delete nftables table " + family + " " + network.tableName(),
            "delete table " + family + " " + network.tableName() + "\n");
      }
    }
  }

  /** The whole current text of our tables, as {@code nft list} prints it (for logs and reports). */
  public String listing() throws NetworkException {
    StringBuilder text = new StringBuilder();
    for (String family : FAMILIES) {
      if (tableExists(family)) {
        text.append(
            commands.run(
                "list nftables table " + family + " " + network.tableName(),
                List.of("nft", "list", "table", family, network.tableName())));
      }
    }
    return text.toString();
  }

  private void apply(String what, String script) throws NetworkException {
    commands.run(what, List.of("nft", "-f", "-"), script);
  }
}
