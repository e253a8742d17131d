package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

// requireSubcommand makes a command that only groups others (dockah,
// dockah image) fail, as podman does, when it is run without a command
// or with one it does not know. Cobra would print the help and exit 0
// instead, so that a typo in a script went unnoticed.
func requireSubcommand(c *cobra.Command) {
	c.Args = cobra.ArbitraryArgs
	if c.SuggestionsMinimumDistance <= 0 {
		c.SuggestionsMinimumDistance = 2 // cobra's default, set only when cobra itself suggests
	}
	c.RunE = func(c *cobra.Command, args []string) error {
		if len(args) == 0 {
			return fmt.Errorf("missing command: %s COMMAND (valid: %s; see %s --help)",
				c.CommandPath(), validCommands(c), c.CommandPath())
		}
		return unknownCommandError(c, args[0])
	}
}

// unknownCommandError names the command c does not have, what it may have
// been a typo of, and the commands c has.
func unknownCommandError(c *cobra.Command, name string) error {
	hint := ""
	if s := c.SuggestionsFor(name); len(s) > 0 {
		hint = fmt.Sprintf("; did you mean %q?", s[0])
	}
	return fmt.Errorf("unknown command %q for %q%s (valid: %s)", name, c.CommandPath(), hint, validCommands(c))
}

// validCommands lists the subcommands of c a user may run, as --help
// lists them: neither hidden ones nor help.
func validCommands(c *cobra.Command) string {
	var names []string
	for _, sub := range c.Commands() {
		if sub.IsAvailableCommand() {
			names = append(names, sub.Name())
		}
	}
	return strings.Join(names, ", ")
}
