#!/usr/bin/env bats
# cellctl's global options and dispatch (the verbs have their own files).

load helpers

@test "cellctl --version names the version and commit" {
  run "$CELLCTL" --version
  [ "$status" -eq 0 ]
  [[ "${lines[0]}" == "cellctl version $(cat "$CELL_TOP/VERSION")" ]]
  [[ "${lines[1]}" == "commit: "* ]]
}

@test "cellctl --help lists the global options; no command is a usage error" {
  run "$CELLCTL" --help
  [ "$status" -eq 0 ]
  [[ "$output" == *"--root DIR"* ]]
  [[ "$output" == *"--json"* ]]
  run "$CELLCTL"
  [ "$status" -eq 2 ]
}

@test "cellctl: an unknown command or global option is an error naming it" {
  run "$CELLCTL" frobnicate
  [ "$status" -eq 1 ]
  [[ "$output" == "cellctl: "*'unknown command "frobnicate"'* ]]
  run "$CELLCTL" --frob list
  [ "$status" -eq 2 ]
  [[ "$output" == *"--frob"* ]]
  run "$CELLCTL" --root "" list
  [ "$status" -eq 2 ]
  [[ "$output" == *"--root"* ]]
}
