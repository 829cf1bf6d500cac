package main

// The IANA time zone database is built into the binary, so that organizations' time zones
// resolve the same on every machine, containers without /usr/share/zoneinfo included.
import _ "time/tzdata"
