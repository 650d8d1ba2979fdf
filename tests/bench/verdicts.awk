# verdicts.awk - the issue 14 targets, read from a startbench summary.tsv,
# printed as information only (a benchmark never fails on time).
#   awk -F'\t' -v what=run -f verdicts.awk summary.tsv
# what=run: per setup, cell's wall <= 0.6x crun's, <= 2x the floor, peak RSS
#           <= crun's;  what=exec: per mode, cell's wall <= 0.6x crun's.
# Columns: 1 name, 3 wall med, 6 peak RSS KiB, 7 wall/ref, 13 status,
# 14 paired wall/ref, 15 wall/floor, 16 paired wall/floor, 17 group, 18 runtime.
function verdict(ok) { return ok ? "met" : "NOT met" }
function fmt(v) { return v == "nan" || v == "" ? "-" : sprintf("%.2f", v) }
/^#/ { next }
$13 == "ok" { rss[$17 "/" $18] = $6 }
$13 == "ok" && $18 == "cell" { row[++n] = $0 }
END {
  if (what == "") what = "run"
  for (i = 1; i <= n; i++) {
    split(row[i], f, "\t")
    g = f[17]; line = sprintf("target %-13s cell = %sx crun (paired %sx) [<= 0.6: %s]", g, fmt(f[7]), fmt(f[14]),
      verdict(f[7] != "nan" && f[7] <= 0.6 && f[14] <= 0.6))
    if (what == "run") {
      line = line sprintf("; = %sx floor (paired %sx) [<= 2: %s]", fmt(f[15]), fmt(f[16]),
        verdict(f[15] != "nan" && f[15] <= 2 && f[16] <= 2))
      c = rss[g "/crun"]
      line = line sprintf("; peak RSS %s KiB vs crun %s [<=: %s]", f[6], (c == "" ? "-" : c),
        verdict(c != "" && f[6] + 0 <= c + 0))
    }
    print line
  }
  print "(targets are information only; the paired ratio is the median of per-round ratios)"
}
