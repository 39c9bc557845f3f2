// Package testuser runs a test as a user whom file permissions bind:
// root ignores them, so a test of what a read-only folder does (an admin's
// restore without root on Linux, Windows' read-only attribute) proves
// nothing as root.
package testuser
