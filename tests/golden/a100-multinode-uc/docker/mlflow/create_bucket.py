"""Create the artifact bucket when it does not exist yet (the one-shot `create-bucket` service).

MLflow's S3 artifact repository does not create buckets, and its server starts only after this
job has succeeded. Reads MLFLOW_S3_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and
ARTIFACT_BUCKET from the environment. Safe to run any number of times.
"""

from __future__ import annotations

import os
import sys
import time

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError, EndpointConnectionError


def main() -> int:
    bucket = os.environ["ARTIFACT_BUCKET"]
    s3 = boto3.client(
        "s3",
        endpoint_url=os.environ["MLFLOW_S3_ENDPOINT_URL"],
        aws_access_key_id=os.environ["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=os.environ["AWS_SECRET_ACCESS_KEY"],
        region_name=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 5}),
    )
    # The object store may still be starting: retry the first call for a minute.
    for attempt in range(30):
        try:
            s3.head_bucket(Bucket=bucket)
            print(f"bucket {bucket} exists")
            return 0
        except EndpointConnectionError:
            time.sleep(2)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in ("404", "NoSuchBucket", "NotFound"):
                s3.create_bucket(Bucket=bucket)
                print(f"bucket {bucket} created")
                return 0
            if code in ("403", "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch"):
                print(f"access to bucket {bucket} denied ({code}):"
                      " check the S3 credentials in .env", file=sys.stderr)
                return 1
            if attempt == 29:
                raise
            time.sleep(2)
    print(f"object store at {os.environ['MLFLOW_S3_ENDPOINT_URL']} did not answer", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
