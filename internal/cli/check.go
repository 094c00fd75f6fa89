package cli

func runCheck(e *env, args []string) error {
	return usagef("", "check is not built yet")
}
