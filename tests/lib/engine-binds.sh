# engine-binds.sh - sourced: the bind mounts of a captured engine config
# (tests/fixtures/engine-configs) made to work on this host.
#
#   engine_binds BUNDLE WHO
#
# Bind sources below @ENGINE_DIR@ existed only in the engine's private
# directory; each becomes a file (or, for shm, a directory) made in
# BUNDLE/host/: /etc/hostname gets the config's hostname, /etc/hosts a
# localhost line, anything else is empty.  A bind source outside
# @ENGINE_DIR@ must exist here (a path the engine's package provides);
# otherwise the error names WHO and the source.  Rewrites BUNDLE/config.json.
engine_binds() {
  local b=$1 who=$2 i src dst base subst='{}'
  mkdir -p "$b/host"
  while IFS=$'\t' read -r i src dst; do
    case $src in
      @ENGINE_DIR@/*) ;;
      *)
        [ -e "$src" ] && continue
        echo "$who: bind source $src (for $dst) does not exist on this host" >&2
        return 1 ;;
    esac
    base=$i-$(basename "$src")
    if [ "$(basename "$src")" = shm ]; then
      mkdir -p "$b/host/$base"
    else
      case $dst in
        /etc/hostname) jq -r '.hostname // "cell"' "$b/config.json" >"$b/host/$base" ;;
        /etc/hosts) printf '127.0.0.1\tlocalhost\n' >"$b/host/$base" ;;
        *) : >"$b/host/$base" ;;
      esac
    fi
    subst=$(jq -c --arg i "$i" --arg s "$b/host/$base" '. + {($i): $s}' <<<"$subst")
  done < <(jq -r '.mounts | to_entries[]
      | select(.value.type == "bind" or ((.value.options // []) | index("bind") or index("rbind")))
      | "\(.key)\t\(.value.source)\t\(.value.destination)"' "$b/config.json")
  jq --argjson m "$subst" '.mounts |= [to_entries[] | .value.source = ($m[.key | tostring] // .value.source) | .value]' \
    "$b/config.json" >"$b/config.tmp" && mv "$b/config.tmp" "$b/config.json"
}
