#!/bin/bash
p=$1
grep -E "^(Rss|Pss|Shared_Clean|Private_Clean|Private_Dirty|Anonymous)" /proc/$p/smaps_rollup | tr '\n' ' '; echo
grep -E "^(RssAnon|RssFile|RssShmem|Threads)" /proc/$p/status | tr '\n' ' '; echo
