# pipelines/plot-per-class.gp — per-class top-1 accuracy against the class's training images (log x), from
# the TSV `lfm-eval --per-class FILE` writes (class_id, name, train_count, test_count, accuracy; '#' header).
#
#   gnuplot -e "in='per-class.tsv'; out='per-class.png'" pipelines/plot-per-class.gp
#   gnuplot -c pipelines/plot-per-class.gp per-class.tsv per-class.png
#
# Optional variables (-e): title (default: the input's name), many (many-shot above, default 100), few
# (few-shot at most, default 20) for the group boundaries drawn, labels (1: write class names beside the
# points; default: only with at most 20 classes). The output's extension picks the terminal: .png
# (pngcairo when gnuplot has it, else png), .svg, .pdf (needs cairo); anything else is written as PNG.
# Classes without test images or with an unknown training count (NaN) are left out; classes with no
# training image cannot sit on a log axis and are left out too.

if (!exists("in") && ARGC >= 1) in = ARG1
if (!exists("out") && ARGC >= 2) out = ARG2
if (!exists("in")) { print "plot-per-class.gp: give the input: -e \"in='per-class.tsv'\" or -c ... FILE"; exit status 2 }
if (!exists("out")) out = in[1:strlen(in) - 4] . ".png"
if (!exists("title")) title = in
if (!exists("many")) many = 100
if (!exists("few")) few = 20

ext = out[strlen(out) - 3:strlen(out)]
if (ext eq ".svg") {
	set terminal svg size 900,560 dynamic font "sans,12"
} else {
	if (ext eq ".pdf") {
		set terminal pdfcairo size 6in,3.8in font "sans,10"
	} else {
		if (strstrt(GPVAL_TERMINALS, "pngcairo") > 0) {
			set terminal pngcairo size 900,560 font "sans,11"
		} else {
			set terminal png size 900,560
		}
	}
}
set output out

set datafile separator "\t"
set datafile commentschars "#"
set datafile missing "NaN"

# How many classes (for the default of labels) and the x range.
stats in using 1 nooutput
classes = STATS_records
if (!exists("labels")) labels = (classes <= 20)

set title title noenhanced
set xlabel "training images of the class"
set ylabel "top-1 accuracy (%)"
set logscale x
set yrange [-3:103]
set grid xtics ytics mxtics
set key outside right top
set format x "%.0f"

# Group boundaries: many-shot > many, few-shot <= few (between two integers, so no point sits on a line).
set arrow 1 from few + 0.5, graph 0 to few + 0.5, graph 1 nohead dashtype 2 linecolor rgb "#888888"
set arrow 2 from many + 0.5, graph 0 to many + 0.5, graph 1 nohead dashtype 2 linecolor rgb "#888888"
set label 1 "few" at graph 0.01, graph 0.97 textcolor rgb "#666666"
set label 2 sprintf("medium (%d..%d)", few + 1, many) at few + 0.6, graph 0.97 textcolor rgb "#666666"
set label 3 "many" at many + 0.6, graph 0.97 textcolor rgb "#666666"

x(c) = column(c) > 0 ? column(c) : NaN
in_group(g) = g == 0 ? ($3 > many) : (g == 1 ? ($3 > few && $3 <= many) : ($3 <= few))
y(g) = in_group(g) ? $5 * 100 : NaN
ps = labels ? 1.2 : 0.8

plot in using (x(3)):(y(0)) with points pointtype 7 pointsize ps linecolor rgb "#1f77b4" title "many-shot", \
     in using (x(3)):(y(1)) with points pointtype 7 pointsize ps linecolor rgb "#ff7f0e" title "medium", \
     in using (x(3)):(y(2)) with points pointtype 7 pointsize ps linecolor rgb "#d62728" title "few-shot", \
     in using (x(3)):(labels ? $5 * 100 : NaN):2 with labels offset char 0.8, char 0.5 left font ",9" noenhanced notitle
unset output
