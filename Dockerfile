# The governance image: Airflow 3.3 with the three project packages and the pinned requirements.
FROM python:3.11-slim

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1 AIRFLOW_HOME=/opt/airflow
WORKDIR /opt/bucket-governance
COPY requirements.txt pyproject.toml ./
RUN pip install --no-cache-dir uv==0.13.9 \
 && uv pip install --system --no-cache -r requirements.txt "apache-airflow[celery]==3.3.2" redis
COPY include ./include
COPY dags ./dags
COPY plugins ./plugins
RUN uv pip install --system --no-cache --no-deps -e .
ENV AIRFLOW__CORE__DAGS_FOLDER=/opt/bucket-governance/dags \
    AIRFLOW__CORE__PLUGINS_FOLDER=/opt/bucket-governance/plugins \
    BUCKET_GOV_VAR_DIR=/var/lib/bucket-governance
