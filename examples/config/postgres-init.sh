#!/bin/sh
# Runs once, when postgres initialises an empty data directory: creates gitea's role and
# database. The password comes from the environment (secretEnv), never from this file.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" <<SQL
CREATE ROLE gitea LOGIN PASSWORD '${GITEA_DB_PASSWORD}';
CREATE DATABASE gitea OWNER gitea;
SQL
