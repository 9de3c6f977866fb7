package dev.buildhost.manager;

import static com.tngtech.archunit.base.DescribedPredicate.not;
import static com.tngtech.archunit.core.domain.JavaClass.Predicates.resideInAPackage;
import static com.tngtech.archunit.core.domain.JavaClass.Predicates.resideInAnyPackage;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.classes;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import dev.buildhost.manager.backend.InstanceBackend;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The package layering doc/architecture.md describes, checked on the compiled classes so that a
 * stray import fails the build rather than a later read of the code:
 *
 * <pre>
 * model  &lt;-  machine  &lt;-  backend (SPI)  &lt;-  libvirt, docker
 *                      &lt;-  journal, event, tftp
 *                      &lt;-  instance (the manager)  &lt;-  api  &lt;-  daemon  &lt;-  cli
 * </pre>
 */
class ArchitectureTest {
  private static final String OURS = "dev.buildhost..";
  private static final String MANAGER = "dev.buildhost.manager";
  private static JavaClasses manager;
  private static JavaClasses tftpLibrary;

  @BeforeAll
  static void importClasses() {
    manager =
        new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_JARS)
            .importPackages(MANAGER);
    tftpLibrary =
        new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .importPackages("dev.buildhost.tftp");
  }

  @Test
  void packagesOfTheManagerFormNoCycle() {
    assertTrue(manager.size() > 50, "the manager's classes were not found: " + manager.size());
    slices().matching(MANAGER + ".(*)..").should().beFreeOfCycles().check(manager);
  }

  @Test
  void theModelDependsOnNothingOfOurs() {
    noClasses()
        .that()
        .resideInAPackage(MANAGER + ".model..")
        .should()
        .dependOnClassesThat(
            resideInAPackage(OURS).and(not(resideInAPackage(MANAGER + ".model.."))))
        .because("the instance model is the leaf every other package builds on")
        .check(manager);
  }

  @Test
  void backendsImplementTheSpiAndNeverSeeTheManager() {
    noClasses()
        .that()
        .resideInAnyPackage(MANAGER + ".libvirt..", MANAGER + ".docker..", MANAGER + ".backend..")
        .should()
        .dependOnClassesThat()
        .resideInAnyPackage(
            MANAGER + ".instance..",
            MANAGER + ".journal..",
            MANAGER + ".event..",
            MANAGER + ".tftp..",
            MANAGER + ".api..",
            MANAGER + ".daemon..",
            MANAGER + ".cli..")
        .because("a backend only launches, stops and removes guests and reports through the SPI")
        .check(manager);
    noClasses()
        .that()
        .resideInAPackage(MANAGER + ".libvirt..")
        .should()
        .dependOnClassesThat()
        .resideInAPackage(MANAGER + ".docker..")
        .check(manager);
    noClasses()
        .that()
        .resideInAPackage(MANAGER + ".docker..")
        .should()
        .dependOnClassesThat()
        .resideInAPackage(MANAGER + ".libvirt..")
        .check(manager);
    classes()
        .that()
        .resideInAnyPackage(MANAGER + ".libvirt..", MANAGER + ".docker..")
        .and()
        .haveSimpleNameEndingWith("Backend")
        .should()
        .implement(InstanceBackend.class)
        .check(manager);
  }

  @Test
  void onlyTheDaemonWiresBackendsIntoTheManager() {
    noClasses()
        .that(not(resideInAnyPackage(MANAGER + ".daemon..", MANAGER + ".cli..")))
        .should()
        .dependOnClassesThat()
        .resideInAnyPackage(MANAGER + ".libvirt..", MANAGER + ".docker..")
        .allowEmptyShould(true)
        .check(
            manager.that(not(resideInAnyPackage(MANAGER + ".libvirt..", MANAGER + ".docker.."))));
  }

  @Test
  void lowerLayersNeverSeeTheManagerOrItsServers() {
    noClasses()
        .that()
        .resideInAnyPackage(
            MANAGER + ".model..",
            MANAGER + ".machine..",
            MANAGER + ".config..",
            MANAGER + ".journal..",
            MANAGER + ".event..",
            MANAGER + ".tftp..")
        .should()
        .dependOnClassesThat()
        .resideInAnyPackage(
            MANAGER + ".instance..", MANAGER + ".api..", MANAGER + ".daemon..", MANAGER + ".cli..")
        .check(manager);
    noClasses()
        .that()
        .resideInAPackage(MANAGER + ".instance..")
        .should()
        .dependOnClassesThat()
        .resideInAnyPackage(MANAGER + ".api..", MANAGER + ".daemon..", MANAGER + ".cli..")
        .check(manager);
  }

  /**
   * The CLI talks to a daemon through the API client only; {@code DaemonCommand}, which runs the
   * daemon in the CLI's own process, is the one exception. (Today the client commands still share
   * the domain records and a few helpers of {@code daemon}, {@code config} and {@code machine} with
   * the server; the API-client module under way replaces them with wire types. What is checked here
   * is that no client command reaches into the manager, its backends or its state.)
   */
  @Test
  void theCliUsesOnlyTheApiClient() {
    // The daemon verb starts the daemon in-process (DaemonRunner); every other verb is a client of
    // the API and reaches the daemon only through the api-client module.
    noClasses()
        .that()
        .resideInAPackage(MANAGER + ".cli..")
        .and()
        .haveNameNotMatching(".*\\.cli\\.Daemon(Command|Runner)(\\$.*)?")
        .should()
        .dependOnClassesThat()
        .resideInAnyPackage(
            MANAGER + ".instance..",
            MANAGER + ".journal..",
            MANAGER + ".event..",
            MANAGER + ".backend..",
            MANAGER + ".libvirt..",
            MANAGER + ".docker..",
            MANAGER + ".tftp..",
            MANAGER + ".model..",
            MANAGER + ".api..",
            MANAGER + ".daemon..")
        .check(manager);
  }

  @Test
  void theTftpLibraryKnowsNothingOfTheManager() {
    assertFalse(tftpLibrary.isEmpty(), "the tftp library's classes are not on the test class path");
    noClasses()
        .that()
        .resideInAPackage("dev.buildhost.tftp..")
        .should()
        .dependOnClassesThat()
        .resideInAPackage(MANAGER + "..")
        .check(tftpLibrary);
  }
}
