#!/bin/sh
# zmeventnotification.pl -> zmes
#
# ZoneMinder's zmdc.pl starts "zmeventnotification.pl" from ZM_PATH_BIN when
# OPT_USE_EVENTNOTIFICATION is on, as the web server's user, and restarts it when
# it dies. This stand-in execs zmes in its place, with the arguments zmdc passes;
# it is a shell script under the classic name because that name is what zmdc runs.
#
# `zmes install-zm-daemon` copies it into ZM_PATH_BIN with the paths below filled
# in. As shipped (placeholders left), it runs the `zmes` found on PATH.
#
# Configuration: ZMES_CONFIG if set (install-zm-daemon --config FILE sets it here),
# else the first of /etc/zm/zmeventnotification.yml, /etc/zm/zmeventnotification.ini,
# /etc/zmeventnotification.ini (zmes --help).
zmes_node='@ZMES_NODE@'
zmes_main='@ZMES_MAIN@'
zmes_config='@ZMES_CONFIG@'

case "$zmes_config" in
  @*|'') ;;
  *) ZMES_CONFIG="$zmes_config"; export ZMES_CONFIG ;;
esac
case "$zmes_node" in
  @*) PATH="$PATH:/usr/local/bin:/usr/bin:/bin"; exec zmes "$@" ;;
esac
exec "$zmes_node" "$zmes_main" "$@"
