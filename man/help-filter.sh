#!/bin/sh
# help-filter.sh PROG --help|--version - PROG's --help and --version texts
# shaped for help2man: "usage:" as "Usage:", each indented non-option line
# (cell's commands, cellfs's file list) its own paragraph, and only the
# "NAME VERSION" of --version (the commit would churn the page).
prog=$1; shift
case $1 in
--version) "$prog" --version | head -n 1 | sed 's/ version / /' ;;
*) "$prog" "$@" | sed -e 's/^usage:/Usage:/' -e 's/^\(  [a-z]\)/\n\1/' ;;
esac
