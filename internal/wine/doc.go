// Package wine adapts Go's runtime to Wine 8 for the Windows test lane
// (scripts/wine/lane.sh). It is empty unless built with the "wine" build
// tag for GOOS=windows, and only the lane passes that tag: release builds
// never contain it (TestReleaseBuildHasNoWineShim in cmd/lyncbackup
// checks the package graph of the release build).
package wine
