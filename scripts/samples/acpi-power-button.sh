#!/bin/sh
# Run by busybox acpid when the ACPI power button is pressed (buildhost poweroff, virsh shutdown).
# The sample VM's init is a shell script, not an init that handles poweroff signals, so power off
# here; the worker disk is mounted read-only, nothing needs flushing but the console.
echo "buildhost-init: ACPI power button pressed; powering off" >/dev/console
sync
poweroff -f
