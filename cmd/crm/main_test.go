package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// With CRM_TEST_MAIN=1 the test binary is crm itself: the tests below run it as a child
// process, so they see the exit status main really gives.
func TestMain(m *testing.M) {
	if os.Getenv("CRM_TEST_MAIN") == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

type result struct {
	code           int
	stdout, stderr string
}

// crm runs the command line args as a child process with the extra environment env.
func crm(t *testing.T, env []string, args ...string) result {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(append(os.Environ(), "CRM_TEST_MAIN=1"), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("crm %s: %v", strings.Join(args, " "), err)
	}
	return result{code: cmd.ProcessState.ExitCode(), stdout: stdout.String(), stderr: stderr.String()}
}

// The commands crm has: the test fails when one is added or removed without updating it, so
// that the list below, and the README, stay true.
var wantCommands = []string{"serve", "migrate", "worker", "seed", "healthcheck"}

func TestEveryCommandIsInTheTable(t *testing.T) {
	t.Parallel()
	var names []string
	for _, c := range commands {
		names = append(names, c.name)
		if c.summary == "" || strings.Contains(c.summary, "\n") {
			t.Errorf("command %s: the summary must be one line, is %q", c.name, c.summary)
		}
	}
	if strings.Join(names, " ") != strings.Join(wantCommands, " ") {
		t.Fatalf("commands %v, want %v", names, wantCommands)
	}
}

// Help is asked for in every usual way, needs no configuration (a JWT_SECRET the service
// would refuse does not matter), goes to standard output, exits 0, and lists every command
// with its one-line description.
func TestHelpListsEveryCommand(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"--help"}, {"-h"}, {"-help"}, {"help"}} {
		r := crm(t, []string{"JWT_SECRET=short"}, args...)
		if r.code != 0 || r.stderr != "" {
			t.Fatalf("crm %s: exit %d, stderr %q", args[0], r.code, r.stderr)
		}
		for _, c := range append(wantCommands, "help") {
			line := regexp.MustCompile(`(?m)^  ` + c + ` +\S.*$`)
			if !line.MatchString(r.stdout) {
				t.Errorf("crm %s does not list %q with a description:\n%s", args[0], c, r.stdout)
			}
		}
	}
}

func TestCommandHelpListsItsFlags(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"seed", "--help"}, {"seed", "-h"}, {"help", "seed"}} {
		r := crm(t, []string{"JWT_SECRET=short"}, args...)
		if r.code != 0 || r.stderr != "" {
			t.Fatalf("crm %s: exit %d, stderr %q", strings.Join(args, " "), r.code, r.stderr)
		}
		if !strings.HasPrefix(r.stdout, "usage: crm seed [flags]\n") {
			t.Errorf("crm %s: %q", strings.Join(args, " "), r.stdout)
		}
		for _, f := range []string{"-seed", "-scale", "-reset", "-anchor"} {
			if !regexp.MustCompile(`(?m)^  ` + f + `\b`).MatchString(r.stdout) {
				t.Errorf("crm %s does not list the flag %s:\n%s", strings.Join(args, " "), f, r.stdout)
			}
		}
	}
	for _, c := range []string{"serve", "migrate", "healthcheck"} {
		r := crm(t, nil, c, "--help")
		if r.code != 0 || !strings.HasPrefix(r.stdout, "usage: crm "+c+"\n") || r.stderr != "" {
			t.Errorf("crm %s --help: exit %d, stdout %q, stderr %q", c, r.code, r.stdout, r.stderr)
		}
	}
}

// A usage error exits 2 with the usage on standard error and nothing on standard output,
// before any configuration is read or anything is touched.
func TestUsageErrorsExit2(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		want string // on stderr
	}{
		{[]string{"bogus"}, `unknown command "bogus"`},
		{[]string{"--bogus"}, `unknown command "--bogus"`},
		{[]string{"help", "bogus"}, `unknown command "bogus"`},
		{[]string{"seed", "-bogus"}, "flag provided but not defined: -bogus"},
		{[]string{"seed", "-anchor", "2026-13-01"}, `invalid value "2026-13-01" for flag -anchor`},
		{[]string{"seed", "-scale", "many"}, `invalid value "many" for flag -scale`},
		{[]string{"serve", "now"}, `unexpected argument "now"`},
		{[]string{"migrate", "-x"}, "flag provided but not defined: -x"},
	} {
		r := crm(t, []string{"JWT_SECRET=short"}, tc.args...)
		name := strings.Join(tc.args, " ")
		if r.code != 2 || r.stdout != "" {
			t.Errorf("crm %s: exit %d, stdout %q; want exit 2 and nothing on stdout", name, r.code, r.stdout)
		}
		if !strings.Contains(r.stderr, tc.want) || !strings.Contains(r.stderr, "usage: crm") {
			t.Errorf("crm %s: stderr %q lacks %q and the usage", name, r.stderr, tc.want)
		}
	}
}

// A command that runs and fails exits 1, telling why on standard error.
func TestFailuresExit1(t *testing.T) {
	t.Parallel()
	// Nothing listens on port 1 of the loopback address.
	r := crm(t, []string{"HTTP_ADDR=127.0.0.1:1"}, "healthcheck")
	if r.code != 1 || !strings.HasPrefix(r.stderr, "crm: ") {
		t.Errorf("healthcheck of nothing: exit %d, stderr %q", r.code, r.stderr)
	}
	// A configuration the service refuses stops every command that needs it.
	r = crm(t, []string{"JWT_SECRET=short"}, "healthcheck")
	if r.code != 1 || !strings.Contains(r.stderr, "JWT_SECRET") {
		t.Errorf("healthcheck with a short JWT_SECRET: exit %d, stderr %q", r.code, r.stderr)
	}
}
