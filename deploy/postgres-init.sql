-- Two databases on one server: Airflow's metadata and the Bucket (with the governance results).
-- Passwords here are the compose defaults; set AIRFLOW_DB_PASSWORD / BUCKET_DB_PASSWORD and edit these for real use.
CREATE USER airflow WITH PASSWORD 'airflow';
CREATE DATABASE airflow OWNER airflow;
CREATE USER bucket WITH PASSWORD 'bucket';
CREATE DATABASE bucket OWNER bucket;
