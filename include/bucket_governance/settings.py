"""The one place that reads the environment.

Every other module receives values from here (or from its caller), so a deployment is configured by
environment variables (``BUCKET_GOV_*``) and nothing else reads ``os.environ``.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

# include/bucket_governance/settings.py -> project root is three levels up (editable install).
PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_VAR_DIR = PROJECT_ROOT / "var"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BUCKET_GOV_", extra="ignore")

    var_dir: Path = Field(default=DEFAULT_VAR_DIR, description="where the embedded database and keys live")
    db_url: str | None = Field(default=None, description="SQLAlchemy URL; default: SQLite file in var_dir")
    policy_dir: Path = Field(default=PROJECT_ROOT / "include" / "policy")
    signing_key_path: Path | None = None
    api_rate_limit_backend: Literal["memory", "database"] = Field(
        default="database",
        description="where the API's per-product rate windows live: 'database' shares them between every API "
        "process on the governance database; 'memory' keeps them per process (N processes allow N times the rate)",
    )

    api_group_commit: Literal["on", "off"] = Field(
        default="on",
        description="'on': the API process records concurrent artifact writes and reads in one ledger "
        "transaction per group (each still decided on its own) instead of one transaction per request",
    )

    def resolved_db_url(self) -> str:
        if self.db_url:
            return self.db_url
        return f"sqlite:///{self.var_dir / 'bucket.db'}"

    def resolved_signing_key_path(self) -> Path:
        return self.signing_key_path or self.var_dir / "keys" / "checkpoint-signing.key"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
