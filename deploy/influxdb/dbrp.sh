#!/bin/sh
# InfluxDB 2 init script (docker-entrypoint-initdb.d): map the InfluxQL
# database/retention policy env/autogen to the bucket "env", so that
# Grafana's InfluxQL dashboards and envpipe's bucket "env/autogen" work.
set -e
bucket_id=$(influx bucket list --org "$DOCKER_INFLUXDB_INIT_ORG" --name "$DOCKER_INFLUXDB_INIT_BUCKET" --hide-headers | cut -f1)
influx v1 dbrp create --org "$DOCKER_INFLUXDB_INIT_ORG" --db env --rp autogen --bucket-id "$bucket_id" --default
