package main

import (
	"testing"

	"github.com/lyncbackup/lyncbackup/config"
)

// The backup counts its lock's days in the retention policy's time zone,
// where min_age counts its own (upload.LockUntil).
func TestBackupJobLocksInRetentionZone(t *testing.T) {
	cfg := &config.Config{Host: "fe01", Retention: config.Retention{TimeZone: "Europe/Berlin"},
		Destination: config.Destination{ObjectLock: &config.ObjectLock{Mode: "GOVERNANCE", Days: 30}}}
	job := backupJob(cfg, nil, nil, nil, nil, false, 1)
	if job.LockDays != 30 || job.LockZone == nil || job.LockZone.String() != "Europe/Berlin" {
		t.Errorf("lock days %d, zone %v; want 30 days in Europe/Berlin", job.LockDays, job.LockZone)
	}
}
