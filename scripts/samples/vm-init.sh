#!/bin/sh
# /init of the sample-vm initramfs (busybox). Brings up what the worker needs, runs the worker
# from the machine's disk, then powers off (ACPI; the domain then disappears). A press of the ACPI
# power button powers it off at any time.
# The network is minimal: eth0's address by DHCP (the guest bridge's dnsmasq, or QEMU user
# networking's 10.0.2.15; fixed 10.0.2.15/24 when nobody answers), no default route, no DNS.

PATH=/bin:/sbin:/usr/bin:/usr/sbin
export PATH

say() {
  echo "buildhost-init: $*"
}

halt_now() {
  sync
  poweroff -f
  # poweroff -f does not return; if it somehow does, do not let init exit (kernel panic).
  while :; do sleep 3600; done
}

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs -o mode=1777 tmpfs /tmp
[ -c /dev/console ] && exec </dev/console >/dev/console 2>&1

# Modules in dependency order, as listed by scripts/build-samples.
while read -r module; do
  insmod "/lib/modules/$module.ko" || say "insmod $module failed"
done </lib/modules/load-order

# The ACPI power button (buildhost poweroff) runs /etc/acpi/PWRF/00000080, which powers off.
acpid -d -c /etc/acpi >/dev/null 2>&1 &

ip link set lo up
# DHCP first: on the daemon's guest bridge its dnsmasq gives this guest its address (the worker
# then finds TFTP at the bridge's 196.254.111.222:69); on QEMU user networking slirp answers with
# 10.0.2.15. Only the address is set, never a route: the guest reaches its own subnet only.
cat >/tmp/udhcpc.script <<'SCRIPT'
#!/bin/sh
case "$1" in
  bound | renew)
    ip addr flush dev "$interface"
    ip addr add "$ip/${mask:-24}" dev "$interface"
    ;;
esac
SCRIPT
chmod 0755 /tmp/udhcpc.script
if ! ip link set eth0 up; then
  say "no network interface eth0"
elif udhcpc -i eth0 -n -q -f -t 5 -T 1 -s /tmp/udhcpc.script >/tmp/udhcpc.log 2>&1; then
  say "eth0 $(ip -4 -o addr show dev eth0 | awk '{print $4}') (DHCP)"
elif ip addr add 10.0.2.15/24 dev eth0; then
  say "eth0 10.0.2.15/24 (no DHCP answer: $(tail -n 1 /tmp/udhcpc.log))"
fi

# The disk holding the worker; virtio_blk probes asynchronously, so give it a bounded wait.
n=0
while [ ! -b /dev/vda ] && [ "$n" -lt 50 ]; do
  sleep 0.1
  n=$((n + 1))
done
# ext2 for sample-vm's disk, FAT for a disk that boots itself (scripts/samples/make-boot-disk).
# Read-write: the instance runs on its own overlay, so what it writes never reaches the machine's
# disk, and a bootstrap's writes (the toolchain in persist/) are what its kept overlay holds.
if ! mount -o rw /dev/vda /mnt/worker; then
  say "cannot mount the worker disk /dev/vda"
  halt_now
fi

BUILDHOST_PERSIST=/mnt/worker/persist /mnt/worker/buildhost-worker
say "worker exited with code $?; powering off"
sync
umount /mnt/worker
halt_now
