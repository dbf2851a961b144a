#!/bin/sh
# Starts one of Token Ledger's programs; settings come from the environment (README: configuration).
set -e
cmd="${1:-processor}"
[ $# -gt 0 ] && shift
case "$cmd" in
  processor)       main=io.tokenledger.processor.ProcessorMain ;;
  sink)            main=io.tokenledger.sink.SinkMain ;;
  publish-catalog) main=io.tokenledger.processor.catalog.PublishCatalogMain; [ $# -eq 0 ] && set -- /app/catalog/pricing-catalog.json ;;
  report)          main=io.tokenledger.sink.report.ReportMain ;;
  *) echo "usage: processor | sink | publish-catalog [FILE] | report [OPTIONS]" >&2; exit 2 ;;
esac
exec java ${JAVA_OPTS:--XX:MaxRAMPercentage=75 -XX:+UseParallelGC} -cp '/app/lib/*' "$main" "$@"
