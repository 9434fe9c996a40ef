#!/bin/sh
# Regenerates po/mariposa.pot from the files in po/POTFILES.in and merges it into every .po.
# Rust files are scanned with the C parser (the string syntax is the same for our strings).
set -eu
cd "$(dirname "$0")/.."
files=$(grep -v '^#' po/POTFILES.in)
ui=$(echo "$files" | grep '\.ui$')
rs=$(echo "$files" | grep '\.rs$')
xgettext --package-name=mariposa --msgid-bugs-address=https://github.com/mariposa \
  --from-code=UTF-8 --add-comments=Translators --sort-by-file -o po/mariposa.pot \
  -L Glade $ui
xgettext --from-code=UTF-8 --add-comments=Translators --sort-by-file -j -o po/mariposa.pot \
  -L C --keyword=gettext --keyword=gettext_f --keyword=ngettext:1,2 --keyword=ngettext_f:1,2 $rs
for lang in $(cat po/LINGUAS); do
  msgmerge --quiet --update --backup=none --no-fuzzy-matching "po/$lang.po" po/mariposa.pot
done
