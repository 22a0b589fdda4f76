"""Real instance types and regions that the simulated market is built on.

Every name below is a real API name and the specs (vCPUs, memory, accelerators, architecture,
network, local storage) follow the providers' published size tables. Only the *market* built on
top of this catalog is simulated.

On-demand prices are approximate Linux list prices in USD/hour in each cloud's reference region
(aws us-east-1, gcp us-central1, azure eastus). Expect them to be within roughly 10% of today's
list price; they are a realistic anchor for simulated spot prices, not billing data.

- AWS: EC2 on-demand price list (us-east-1, Linux), as of mid-2025. P4d/P4de/P5 reflect the
  June 2025 on-demand price cut. Region availability follows the AWS Spot Instance Advisor feed
  of 2025-06-28 (i.e. where the type is offered as Spot).
- GCP: Cloud Billing Catalog prices as compiled by Cyclenerd/google-cloud-pricing-cost-calculator
  (pricing.yml of 2026-07-30); region availability from its `gcloud` machine-type/accelerator
  exports. GPU memory and bundled local SSD from the Compute Engine GPU docs.
- Azure: Azure retail prices (SpotLake snapshot of 2022-08-04, eastus) except ND_H100_v5, which
  post-dates that snapshot and uses the Azure pricing page figure. Region availability for the
  GPU series and Dpsv5 follows that snapshot and is therefore conservative.

Conventions:
- `memory_gib`, `gpu_memory_gib` and `local_storage_gib` are the provider's published numbers
  (AWS and GCP state local disks in GB; they are kept as published rather than converted).
- `local_storage_gib` is the total instance-local disk (AWS instance store, GCP bundled Local
  SSD, Azure temp disk plus local NVMe).
- For `accelerator_kind` "inferentia" / "trainium" the `gpu_*` fields describe the Neuron
  chips (count, model, memory per chip); consumers must check `accelerator_kind`, not only
  `gpu_count`, before treating a type as CUDA-capable.
- GCP attaches T4/V100 GPUs to N1 VMs rather than selling them as machine types. Such pairings
  are modelled as a synthetic name `"<machine-type>+<accelerator-type>"` (one GPU, e.g.
  `"n1-standard-8+nvidia-tesla-t4"`) with family `"n1-standard+t4"`; split on "+" to get the
  real machine type and accelerator type. Price = machine price + GPU price.
- `RegionSpec.price_factor` is a typical on-demand multiplier for general-purpose types; real
  per-family factors vary (e.g. GPUs in GCP europe-west4 cost more than CPUs there).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class TypeSpec:
    cloud: str  # "aws" | "gcp" | "azure"
    name: str  # real API name ("g5.xlarge", "a2-highgpu-1g", "Standard_NC4as_T4_v3")
    family: str  # the cloud's family grouping ("g5", "a2-highgpu", "NCasT4_v3")
    generation: int | None
    size: str  # size part of the name ("xlarge", "1g", "4as")
    vcpus: int
    memory_gib: float
    arch: str  # "x86_64" | "arm64"
    gpu_count: int  # 0 for CPU types
    gpu_model: str | None  # canonical short model ("T4", "A100", ...); None for CPU types
    gpu_memory_gib: float | None  # per GPU / accelerator chip; None for CPU types
    accelerator_kind: str  # "none" | "gpu" | "inferentia" | "trainium"
    network_gbps: float | None  # "up to 25" -> 25.0; None if not published
    local_storage_gib: float | None  # None if the type has no local disk
    on_demand_usd: float  # Linux on-demand $/h in the cloud's reference region
    regions: tuple[str, ...] | None = None  # None = every REGIONS entry of that cloud


@dataclass(frozen=True, slots=True)
class RegionSpec:
    cloud: str
    name: str  # "us-east-1", "us-central1", "eastus"
    zone_ids: tuple[str, ...]  # AWS zone IDs, GCP zone names, Azure "<region>-<n>"
    price_factor: float  # on-demand multiplier vs the cloud's reference region


# Per-size row: (name, size, vcpus, memory_gib, gpu_count, network_gbps, local_gib, usd_per_h)
_Row = tuple[str, str, int, float, int, float | None, float | None, float]


def _family(
    cloud: str,
    family: str,
    generation: int | None,
    rows: tuple[_Row, ...],
    *,
    arch: str = "x86_64",
    gpu_model: str | None = None,
    gpu_memory_gib: float | None = None,
    kind: str = "none",
    regions: tuple[str, ...] | None = None,
) -> tuple[TypeSpec, ...]:
    return tuple(
        TypeSpec(
            cloud=cloud,
            name=name,
            family=family,
            generation=generation,
            size=size,
            vcpus=vcpus,
            memory_gib=mem,
            arch=arch,
            gpu_count=gpus,
            gpu_model=gpu_model if gpus else None,
            gpu_memory_gib=gpu_memory_gib if gpus else None,
            accelerator_kind=kind if gpus else "none",
            network_gbps=net,
            local_storage_gib=local,
            on_demand_usd=price,
            regions=regions,
        )
        for name, size, vcpus, mem, gpus, net, local, price in rows
    )


# --------------------------------------------------------------------------------------------
# AWS (reference region us-east-1)
# --------------------------------------------------------------------------------------------

_AWS_CPU = (
    _family("aws", "m5", 5, (
        ("m5.large", "large", 2, 8.0, 0, 10.0, None, 0.096),
        ("m5.xlarge", "xlarge", 4, 16.0, 0, 10.0, None, 0.192),
        ("m5.2xlarge", "2xlarge", 8, 32.0, 0, 10.0, None, 0.384),
        ("m5.4xlarge", "4xlarge", 16, 64.0, 0, 10.0, None, 0.768),
        ("m5.12xlarge", "12xlarge", 48, 192.0, 0, 12.0, None, 2.304),
    ))
    + _family("aws", "m6i", 6, (
        ("m6i.large", "large", 2, 8.0, 0, 12.5, None, 0.096),
        ("m6i.xlarge", "xlarge", 4, 16.0, 0, 12.5, None, 0.192),
        ("m6i.2xlarge", "2xlarge", 8, 32.0, 0, 12.5, None, 0.384),
        ("m6i.4xlarge", "4xlarge", 16, 64.0, 0, 12.5, None, 0.768),
        ("m6i.8xlarge", "8xlarge", 32, 128.0, 0, 12.5, None, 1.536),
        ("m6i.16xlarge", "16xlarge", 64, 256.0, 0, 25.0, None, 3.072),
    ))
    + _family("aws", "m7i", 7, (
        ("m7i.large", "large", 2, 8.0, 0, 12.5, None, 0.1008),
        ("m7i.xlarge", "xlarge", 4, 16.0, 0, 12.5, None, 0.2016),
        ("m7i.2xlarge", "2xlarge", 8, 32.0, 0, 12.5, None, 0.4032),
        ("m7i.4xlarge", "4xlarge", 16, 64.0, 0, 12.5, None, 0.8064),
        ("m7i.8xlarge", "8xlarge", 32, 128.0, 0, 12.5, None, 1.6128),
        ("m7i.48xlarge", "48xlarge", 192, 768.0, 0, 50.0, None, 9.6768),
    ))
    + _family("aws", "c6i", 6, (
        ("c6i.large", "large", 2, 4.0, 0, 12.5, None, 0.085),
        ("c6i.xlarge", "xlarge", 4, 8.0, 0, 12.5, None, 0.17),
        ("c6i.2xlarge", "2xlarge", 8, 16.0, 0, 12.5, None, 0.34),
        ("c6i.4xlarge", "4xlarge", 16, 32.0, 0, 12.5, None, 0.68),
        ("c6i.16xlarge", "16xlarge", 64, 128.0, 0, 25.0, None, 2.72),
    ))
    + _family("aws", "c7i", 7, (
        ("c7i.large", "large", 2, 4.0, 0, 12.5, None, 0.08925),
        ("c7i.xlarge", "xlarge", 4, 8.0, 0, 12.5, None, 0.1785),
        ("c7i.2xlarge", "2xlarge", 8, 16.0, 0, 12.5, None, 0.357),
        ("c7i.4xlarge", "4xlarge", 16, 32.0, 0, 12.5, None, 0.714),
        ("c7i.16xlarge", "16xlarge", 64, 128.0, 0, 25.0, None, 2.856),
    ))
    + _family("aws", "r6i", 6, (
        ("r6i.large", "large", 2, 16.0, 0, 12.5, None, 0.126),
        ("r6i.xlarge", "xlarge", 4, 32.0, 0, 12.5, None, 0.252),
        ("r6i.2xlarge", "2xlarge", 8, 64.0, 0, 12.5, None, 0.504),
        ("r6i.4xlarge", "4xlarge", 16, 128.0, 0, 12.5, None, 1.008),
        ("r6i.16xlarge", "16xlarge", 64, 512.0, 0, 25.0, None, 4.032),
    ))
    + _family("aws", "m6g", 6, (
        ("m6g.large", "large", 2, 8.0, 0, 10.0, None, 0.077),
        ("m6g.xlarge", "xlarge", 4, 16.0, 0, 10.0, None, 0.154),
        ("m6g.2xlarge", "2xlarge", 8, 32.0, 0, 10.0, None, 0.308),
        ("m6g.4xlarge", "4xlarge", 16, 64.0, 0, 10.0, None, 0.616),
    ), arch="arm64")
    + _family("aws", "c7g", 7, (
        ("c7g.large", "large", 2, 4.0, 0, 12.5, None, 0.0725),
        ("c7g.xlarge", "xlarge", 4, 8.0, 0, 12.5, None, 0.145),
        ("c7g.2xlarge", "2xlarge", 8, 16.0, 0, 15.0, None, 0.29),
        ("c7g.4xlarge", "4xlarge", 16, 32.0, 0, 15.0, None, 0.58),
        ("c7g.16xlarge", "16xlarge", 64, 128.0, 0, 30.0, None, 2.32),
    ), arch="arm64")
    + _family("aws", "r7g", 7, (
        ("r7g.large", "large", 2, 16.0, 0, 12.5, None, 0.1071),
        ("r7g.xlarge", "xlarge", 4, 32.0, 0, 12.5, None, 0.2142),
        ("r7g.2xlarge", "2xlarge", 8, 64.0, 0, 15.0, None, 0.4284),
        ("r7g.4xlarge", "4xlarge", 16, 128.0, 0, 15.0, None, 0.8568),
    ), arch="arm64")
)  # fmt: skip

_AWS_ACCEL = (
    _family("aws", "g4dn", 4, (
        ("g4dn.xlarge", "xlarge", 4, 16.0, 1, 25.0, 125.0, 0.526),
        ("g4dn.2xlarge", "2xlarge", 8, 32.0, 1, 25.0, 225.0, 0.752),
        ("g4dn.4xlarge", "4xlarge", 16, 64.0, 1, 25.0, 225.0, 1.204),
        ("g4dn.8xlarge", "8xlarge", 32, 128.0, 1, 50.0, 900.0, 2.176),
        ("g4dn.12xlarge", "12xlarge", 48, 192.0, 4, 50.0, 900.0, 3.912),
        ("g4dn.metal", "metal", 96, 384.0, 8, 100.0, 1800.0, 7.824),
    ), gpu_model="T4", gpu_memory_gib=16.0, kind="gpu")
    + _family("aws", "g5", 5, (
        ("g5.xlarge", "xlarge", 4, 16.0, 1, 10.0, 250.0, 1.006),
        ("g5.2xlarge", "2xlarge", 8, 32.0, 1, 10.0, 450.0, 1.212),
        ("g5.4xlarge", "4xlarge", 16, 64.0, 1, 25.0, 600.0, 1.624),
        ("g5.8xlarge", "8xlarge", 32, 128.0, 1, 25.0, 900.0, 2.448),
        ("g5.12xlarge", "12xlarge", 48, 192.0, 4, 40.0, 3800.0, 5.672),
        ("g5.48xlarge", "48xlarge", 192, 768.0, 8, 100.0, 7600.0, 16.288),
    ), gpu_model="A10G", gpu_memory_gib=24.0, kind="gpu", regions=(
        "us-east-1", "us-east-2", "us-west-2", "eu-west-1", "eu-central-1", "ap-northeast-1",
        "ap-south-1",
    ))
    + _family("aws", "g6", 6, (
        ("g6.xlarge", "xlarge", 4, 16.0, 1, 10.0, 250.0, 0.8048),
        ("g6.2xlarge", "2xlarge", 8, 32.0, 1, 10.0, 450.0, 0.9776),
        ("g6.4xlarge", "4xlarge", 16, 64.0, 1, 25.0, 600.0, 1.3232),
        ("g6.12xlarge", "12xlarge", 48, 192.0, 4, 40.0, 3760.0, 4.6016),
        ("g6.48xlarge", "48xlarge", 192, 768.0, 8, 100.0, 7520.0, 13.3504),
    ), gpu_model="L4", gpu_memory_gib=24.0, kind="gpu", regions=(
        "us-east-1", "us-east-2", "us-west-2", "eu-central-1", "ap-northeast-1", "ap-south-1",
    ))
    # p3 predates Nitro: 61 GiB per V100 host slice, EBS only.
    + _family("aws", "p3", 3, (
        ("p3.2xlarge", "2xlarge", 8, 61.0, 1, 10.0, None, 3.06),
        ("p3.8xlarge", "8xlarge", 32, 244.0, 4, 10.0, None, 12.24),
        ("p3.16xlarge", "16xlarge", 64, 488.0, 8, 25.0, None, 24.48),
    ), gpu_model="V100", gpu_memory_gib=16.0, kind="gpu", regions=(
        "us-east-1", "us-east-2", "us-west-2", "eu-west-1", "eu-central-1", "ap-northeast-1",
        "ap-southeast-1",
    ))
    + _family("aws", "p4d", 4, (
        ("p4d.24xlarge", "24xlarge", 96, 1152.0, 8, 400.0, 8000.0, 21.96),
    ), gpu_model="A100", gpu_memory_gib=40.0, kind="gpu", regions=(
        "us-east-1", "us-east-2", "us-west-2", "eu-west-1", "eu-central-1", "ap-northeast-1",
        "ap-south-1",
    ))
    + _family("aws", "p4de", 4, (
        ("p4de.24xlarge", "24xlarge", 96, 1152.0, 8, 400.0, 8000.0, 27.45),
    ), gpu_model="A100", gpu_memory_gib=80.0, kind="gpu", regions=(
        "us-east-1", "us-west-2", "eu-central-1", "ap-northeast-1", "ap-southeast-1",
    ))
    + _family("aws", "p5", 5, (
        ("p5.48xlarge", "48xlarge", 192, 2048.0, 8, 3200.0, 30720.0, 55.04),
    ), gpu_model="H100", gpu_memory_gib=80.0, kind="gpu", regions=(
        "us-east-1", "us-east-2", "us-west-2", "ap-northeast-1", "ap-south-1",
    ))
    + _family("aws", "g5g", 5, (
        ("g5g.xlarge", "xlarge", 4, 8.0, 1, 10.0, None, 0.42),
        ("g5g.2xlarge", "2xlarge", 8, 16.0, 1, 10.0, None, 0.556),
        ("g5g.16xlarge", "16xlarge", 64, 128.0, 2, 25.0, None, 2.744),
    ), arch="arm64", gpu_model="T4G", gpu_memory_gib=16.0, kind="gpu", regions=(
        "us-east-1", "us-west-2", "eu-central-1", "ap-northeast-1", "ap-southeast-1",
    ))
    # gpu_* = Inferentia2 chips (32 GB HBM each).
    + _family("aws", "inf2", 2, (
        ("inf2.xlarge", "xlarge", 4, 16.0, 1, 15.0, None, 0.7582),
        ("inf2.8xlarge", "8xlarge", 32, 128.0, 1, 25.0, None, 1.9679),
        ("inf2.24xlarge", "24xlarge", 96, 384.0, 6, 50.0, None, 6.4906),
        ("inf2.48xlarge", "48xlarge", 192, 768.0, 12, 100.0, None, 12.9813),
    ), gpu_model="Inferentia2", gpu_memory_gib=32.0, kind="inferentia")
    # gpu_* = Trainium chips (32 GB HBM each).
    + _family("aws", "trn1", 1, (
        ("trn1.2xlarge", "2xlarge", 8, 32.0, 1, 12.5, 474.0, 1.3438),
        ("trn1.32xlarge", "32xlarge", 128, 512.0, 16, 800.0, 7600.0, 21.50),
    ), gpu_model="Trainium", gpu_memory_gib=32.0, kind="trainium", regions=(
        "us-east-1", "us-east-2", "us-west-2",
    ))
)  # fmt: skip

# --------------------------------------------------------------------------------------------
# GCP (reference region us-central1)
# --------------------------------------------------------------------------------------------

_GCP_CPU = (
    _family("gcp", "e2-standard", 2, (
        ("e2-standard-2", "2", 2, 8.0, 0, 4.0, None, 0.067),
        ("e2-standard-4", "4", 4, 16.0, 0, 8.0, None, 0.134),
        ("e2-standard-8", "8", 8, 32.0, 0, 16.0, None, 0.268),
        ("e2-standard-16", "16", 16, 64.0, 0, 16.0, None, 0.5361),
        ("e2-standard-32", "32", 32, 128.0, 0, 16.0, None, 1.0722),
    ))
    + _family("gcp", "n2-standard", 2, (
        ("n2-standard-2", "2", 2, 8.0, 0, 10.0, None, 0.0971),
        ("n2-standard-4", "4", 4, 16.0, 0, 10.0, None, 0.1942),
        ("n2-standard-8", "8", 8, 32.0, 0, 16.0, None, 0.3885),
        ("n2-standard-16", "16", 16, 64.0, 0, 32.0, None, 0.7769),
        ("n2-standard-32", "32", 32, 128.0, 0, 32.0, None, 1.5539),
        ("n2-standard-64", "64", 64, 256.0, 0, 32.0, None, 3.1078),
    ))
    + _family("gcp", "n2-highmem", 2, (
        ("n2-highmem-8", "8", 8, 64.0, 0, 16.0, None, 0.5241),
        ("n2-highmem-16", "16", 16, 128.0, 0, 32.0, None, 1.0481),
    ))
    + _family("gcp", "n2-highcpu", 2, (
        ("n2-highcpu-16", "16", 16, 16.0, 0, 32.0, None, 0.5736),
        ("n2-highcpu-32", "32", 32, 32.0, 0, 32.0, None, 1.1471),
    ))
    + _family("gcp", "n2d-standard", 2, (
        ("n2d-standard-4", "4", 4, 16.0, 0, 10.0, None, 0.169),
        ("n2d-standard-8", "8", 8, 32.0, 0, 16.0, None, 0.338),
        ("n2d-standard-16", "16", 16, 64.0, 0, 32.0, None, 0.6759),
        ("n2d-standard-32", "32", 32, 128.0, 0, 32.0, None, 1.3519),
        ("n2d-standard-64", "64", 64, 256.0, 0, 32.0, None, 2.7037),
    ))
    + _family("gcp", "c3-standard", 3, (
        ("c3-standard-4", "4", 4, 16.0, 0, 23.0, None, 0.2016),
        ("c3-standard-8", "8", 8, 32.0, 0, 23.0, None, 0.4032),
        ("c3-standard-22", "22", 22, 88.0, 0, 23.0, None, 1.1088),
        ("c3-standard-44", "44", 44, 176.0, 0, 32.0, None, 2.2177),
        ("c3-standard-88", "88", 88, 352.0, 0, 62.0, None, 4.4354),
        ("c3-standard-176", "176", 176, 704.0, 0, 100.0, None, 8.8708),
    ))
    + _family("gcp", "t2a-standard", 2, (
        ("t2a-standard-2", "2", 2, 8.0, 0, 10.0, None, 0.077),
        ("t2a-standard-4", "4", 4, 16.0, 0, 10.0, None, 0.154),
        ("t2a-standard-8", "8", 8, 32.0, 0, 16.0, None, 0.308),
        ("t2a-standard-16", "16", 16, 64.0, 0, 32.0, None, 0.616),
        ("t2a-standard-48", "48", 48, 192.0, 0, 32.0, None, 1.848),
    ), arch="arm64", regions=("us-central1", "europe-west4", "asia-southeast1"))
)  # fmt: skip

_GCP_ACCEL = (
    _family("gcp", "a2-highgpu", 2, (
        ("a2-highgpu-1g", "1g", 12, 85.0, 1, 24.0, None, 3.6734),
        ("a2-highgpu-2g", "2g", 24, 170.0, 2, 32.0, None, 7.3468),
        ("a2-highgpu-4g", "4g", 48, 340.0, 4, 50.0, None, 14.6935),
        ("a2-highgpu-8g", "8g", 96, 680.0, 8, 100.0, None, 29.3871),
    ), gpu_model="A100", gpu_memory_gib=40.0, kind="gpu", regions=(
        "us-central1", "us-east1", "us-west1", "europe-west4", "asia-southeast1",
    ))
    # a2-ultragpu bundles 375 GB of Local SSD per GPU.
    + _family("gcp", "a2-ultragpu", 2, (
        ("a2-ultragpu-1g", "1g", 12, 170.0, 1, 24.0, 375.0, 5.0688),
        ("a2-ultragpu-2g", "2g", 24, 340.0, 2, 32.0, 750.0, 10.1376),
        ("a2-ultragpu-4g", "4g", 48, 680.0, 4, 50.0, 1500.0, 20.2752),
        ("a2-ultragpu-8g", "8g", 96, 1360.0, 8, 100.0, 3000.0, 40.5504),
    ), gpu_model="A100", gpu_memory_gib=80.0, kind="gpu", regions=(
        "us-central1", "us-east4", "europe-west4", "asia-southeast1",
    ))
    # a3-highgpu-1g/2g/4g can only be obtained as Spot or flex-start VMs (never plain on-demand),
    # which is exactly the market this catalog feeds; the price is the list rate.
    + _family("gcp", "a3-highgpu", 3, (
        ("a3-highgpu-1g", "1g", 26, 234.0, 1, 25.0, 750.0, 11.0612),
        ("a3-highgpu-2g", "2g", 52, 468.0, 2, 50.0, 1500.0, 22.1225),
        ("a3-highgpu-4g", "4g", 104, 936.0, 4, 100.0, 3000.0, 44.245),
        ("a3-highgpu-8g", "8g", 208, 1872.0, 8, 1000.0, 6000.0, 88.49),
    ), gpu_model="H100", gpu_memory_gib=80.0, kind="gpu", regions=(
        "us-central1", "us-east4", "us-west1", "europe-west4", "asia-southeast1",
    ))
    + _family("gcp", "g2-standard", 2, (
        ("g2-standard-4", "4", 4, 16.0, 1, 10.0, None, 0.7068),
        ("g2-standard-8", "8", 8, 32.0, 1, 16.0, None, 0.8536),
        ("g2-standard-12", "12", 12, 48.0, 1, 16.0, None, 1.0004),
        ("g2-standard-16", "16", 16, 64.0, 1, 32.0, None, 1.1472),
        ("g2-standard-24", "24", 24, 96.0, 2, 32.0, None, 2.0008),
        ("g2-standard-48", "48", 48, 192.0, 4, 50.0, None, 4.0017),
        ("g2-standard-96", "96", 96, 384.0, 8, 100.0, None, 8.0033),
    ), gpu_model="L4", gpu_memory_gib=24.0, kind="gpu")
    # Synthetic N1 + attached GPU pairings (see module docstring); T4 adds ~$0.35/h.
    + _family("gcp", "n1-standard+t4", 1, (
        ("n1-standard-4+nvidia-tesla-t4", "4", 4, 15.0, 1, 10.0, None, 0.54),
        ("n1-standard-8+nvidia-tesla-t4", "8", 8, 30.0, 1, 16.0, None, 0.73),
        ("n1-standard-16+nvidia-tesla-t4", "16", 16, 60.0, 1, 32.0, None, 1.11),
    ), gpu_model="T4", gpu_memory_gib=16.0, kind="gpu")
    # V100 adds ~$2.48/h.
    + _family("gcp", "n1-standard+v100", 1, (
        ("n1-standard-8+nvidia-tesla-v100", "8", 8, 30.0, 1, 16.0, None, 2.86),
    ), gpu_model="V100", gpu_memory_gib=16.0, kind="gpu", regions=(
        "us-central1", "us-east1", "us-west1", "europe-west4",
    ))
)  # fmt: skip

# --------------------------------------------------------------------------------------------
# Azure (reference region eastus)
# --------------------------------------------------------------------------------------------

_AZURE_CPU = (
    _family("azure", "Dsv5", 5, (
        ("Standard_D2s_v5", "2s", 2, 8.0, 0, 12.5, None, 0.096),
        ("Standard_D4s_v5", "4s", 4, 16.0, 0, 12.5, None, 0.192),
        ("Standard_D8s_v5", "8s", 8, 32.0, 0, 12.5, None, 0.384),
        ("Standard_D16s_v5", "16s", 16, 64.0, 0, 12.5, None, 0.768),
        ("Standard_D32s_v5", "32s", 32, 128.0, 0, 16.0, None, 1.536),
        ("Standard_D64s_v5", "64s", 64, 256.0, 0, 30.0, None, 3.072),
        ("Standard_D96s_v5", "96s", 96, 384.0, 0, 35.0, None, 4.608),
    ))
    + _family("azure", "Dasv5", 5, (
        ("Standard_D2as_v5", "2as", 2, 8.0, 0, 12.5, None, 0.086),
        ("Standard_D4as_v5", "4as", 4, 16.0, 0, 12.5, None, 0.172),
        ("Standard_D8as_v5", "8as", 8, 32.0, 0, 12.5, None, 0.344),
        ("Standard_D16as_v5", "16as", 16, 64.0, 0, 12.5, None, 0.688),
        ("Standard_D32as_v5", "32as", 32, 128.0, 0, 16.0, None, 1.376),
        ("Standard_D64as_v5", "64as", 64, 256.0, 0, 32.0, None, 2.752),
    ))
    + _family("azure", "Esv5", 5, (
        ("Standard_E2s_v5", "2s", 2, 16.0, 0, 12.5, None, 0.126),
        ("Standard_E4s_v5", "4s", 4, 32.0, 0, 12.5, None, 0.252),
        ("Standard_E8s_v5", "8s", 8, 64.0, 0, 12.5, None, 0.504),
        ("Standard_E16s_v5", "16s", 16, 128.0, 0, 12.5, None, 1.008),
        ("Standard_E32s_v5", "32s", 32, 256.0, 0, 16.0, None, 2.016),
        ("Standard_E64s_v5", "64s", 64, 512.0, 0, 30.0, None, 4.032),
    ))
    # Fsv2 has a local temp disk (8 GiB per vCPU); the other CPU series here are diskless.
    # Fsv2 network figures are Azure's "expected bandwidth" (0.875 Gbps for F2s_v2), not "up to".
    + _family("azure", "Fsv2", 2, (
        ("Standard_F2s_v2", "2s", 2, 4.0, 0, 0.875, 16.0, 0.0846),
        ("Standard_F4s_v2", "4s", 4, 8.0, 0, 1.75, 32.0, 0.169),
        ("Standard_F8s_v2", "8s", 8, 16.0, 0, 3.5, 64.0, 0.338),
        ("Standard_F16s_v2", "16s", 16, 32.0, 0, 7.0, 128.0, 0.677),
        ("Standard_F32s_v2", "32s", 32, 64.0, 0, 14.0, 256.0, 1.353),
        ("Standard_F72s_v2", "72s", 72, 144.0, 0, 30.0, 576.0, 3.045),
    ))
    + _family("azure", "Dpsv5", 5, (
        ("Standard_D2ps_v5", "2ps", 2, 8.0, 0, 12.5, None, 0.077),
        ("Standard_D4ps_v5", "4ps", 4, 16.0, 0, 12.5, None, 0.154),
        ("Standard_D8ps_v5", "8ps", 8, 32.0, 0, 12.5, None, 0.308),
        ("Standard_D16ps_v5", "16ps", 16, 64.0, 0, 12.5, None, 0.616),
        ("Standard_D32ps_v5", "32ps", 32, 128.0, 0, 16.0, None, 1.232),
    ), arch="arm64", regions=("eastus", "eastus2", "westus2", "westeurope", "northeurope"))
)  # fmt: skip

_AZURE_ACCEL = (
    _family("azure", "NCasT4_v3", 3, (
        ("Standard_NC4as_T4_v3", "4as", 4, 28.0, 1, 8.0, 180.0, 0.526),
        ("Standard_NC8as_T4_v3", "8as", 8, 56.0, 1, 8.0, 360.0, 0.752),
        ("Standard_NC16as_T4_v3", "16as", 16, 110.0, 1, 8.0, 360.0, 1.204),
        ("Standard_NC64as_T4_v3", "64as", 64, 440.0, 4, 32.0, 2880.0, 4.352),
    ), gpu_model="T4", gpu_memory_gib=16.0, kind="gpu")
    # Only full-GPU sizes; NV6/12/18ads_A10_v5 get a fraction of one A10.
    + _family("azure", "NVadsA10_v5", 5, (
        ("Standard_NV36ads_A10_v5", "36ads", 36, 440.0, 1, 40.0, 720.0, 3.2),
        ("Standard_NV72ads_A10_v5", "72ads", 72, 880.0, 2, 80.0, 1400.0, 6.52),
    ), gpu_model="A10", gpu_memory_gib=24.0, kind="gpu", regions=(
        "eastus", "westus2", "westus3", "westeurope", "northeurope",
    ))
    # Local storage = temp disk + local NVMe (64+960 GiB per GPU).
    + _family("azure", "NC_A100_v4", 4, (
        ("Standard_NC24ads_A100_v4", "24ads", 24, 220.0, 1, 20.0, 1024.0, 3.673),
        ("Standard_NC48ads_A100_v4", "48ads", 48, 440.0, 2, 40.0, 2048.0, 7.346),
        ("Standard_NC96ads_A100_v4", "96ads", 96, 880.0, 4, 80.0, 4096.0, 14.692),
    ), gpu_model="A100", gpu_memory_gib=80.0, kind="gpu", regions=(
        "eastus", "eastus2", "westeurope", "northeurope",
    ))
    # 80 Gbps is the Ethernet NIC; the 8x400 Gb/s InfiniBand fabric is not counted.
    + _family("azure", "ND_H100_v5", 5, (
        ("Standard_ND96isr_H100_v5", "96isr", 96, 1900.0, 8, 80.0, 28000.0, 98.32),
    ), gpu_model="H100", gpu_memory_gib=80.0, kind="gpu", regions=(
        "eastus", "westus3", "westeurope",
    ))
    # NCv3 is scheduled for retirement (Sept 2025) but still a common V100 spot pool.
    # Azure publishes no network bandwidth figure for it.
    + _family("azure", "NCv3", 3, (
        ("Standard_NC6s_v3", "6s", 6, 112.0, 1, None, 736.0, 3.06),
        ("Standard_NC12s_v3", "12s", 12, 224.0, 2, None, 1474.0, 6.12),
        ("Standard_NC24s_v3", "24s", 24, 448.0, 4, None, 2948.0, 12.24),
    ), gpu_model="V100", gpu_memory_gib=16.0, kind="gpu")
)  # fmt: skip

INSTANCE_TYPES: tuple[TypeSpec, ...] = (
    _AWS_CPU + _AWS_ACCEL + _GCP_CPU + _GCP_ACCEL + _AZURE_CPU + _AZURE_ACCEL
)


def _az(region: str) -> tuple[str, ...]:
    return tuple(f"{region}-{n}" for n in (1, 2, 3))


# Price factors: AWS from m5/m6i list prices, GCP from n2 SKUs, Azure from the median over all
# sizes in the SpotLake snapshot. Zone lists: AWS IDs seen in SpotLake's 2022 AWS snapshot, GCP
# zones from `gcloud compute zones list` (only zones that are UP).
REGIONS: tuple[RegionSpec, ...] = (
    RegionSpec("aws", "us-east-1", tuple(f"use1-az{i}" for i in range(1, 7)), 1.0),
    RegionSpec("aws", "us-east-2", ("use2-az1", "use2-az2", "use2-az3"), 1.0),
    RegionSpec("aws", "us-west-2", ("usw2-az1", "usw2-az2", "usw2-az3", "usw2-az4"), 1.0),
    RegionSpec("aws", "eu-west-1", ("euw1-az1", "euw1-az2", "euw1-az3"), 1.11),
    RegionSpec("aws", "eu-central-1", ("euc1-az1", "euc1-az2", "euc1-az3"), 1.2),
    # apne1-az3 is a legacy zone closed to new customers.
    RegionSpec("aws", "ap-northeast-1", ("apne1-az1", "apne1-az2", "apne1-az4"), 1.29),
    RegionSpec("aws", "ap-south-1", ("aps1-az1", "aps1-az2", "aps1-az3"), 1.05),
    RegionSpec("aws", "ap-southeast-1", ("apse1-az1", "apse1-az2", "apse1-az3"), 1.25),
    RegionSpec("gcp", "us-central1", tuple(f"us-central1-{z}" for z in "abcf"), 1.0),
    RegionSpec("gcp", "us-east1", tuple(f"us-east1-{z}" for z in "bcd"), 1.0),
    RegionSpec("gcp", "us-east4", tuple(f"us-east4-{z}" for z in "abc"), 1.13),
    RegionSpec("gcp", "us-west1", tuple(f"us-west1-{z}" for z in "abc"), 1.0),
    RegionSpec("gcp", "europe-west4", tuple(f"europe-west4-{z}" for z in "abc"), 1.1),
    RegionSpec("gcp", "asia-southeast1", tuple(f"asia-southeast1-{z}" for z in "abc"), 1.23),
    RegionSpec("azure", "eastus", _az("eastus"), 1.0),
    RegionSpec("azure", "eastus2", _az("eastus2"), 1.0),
    RegionSpec("azure", "westus2", _az("westus2"), 1.0),
    RegionSpec("azure", "westus3", _az("westus3"), 1.0),
    RegionSpec("azure", "westeurope", _az("westeurope"), 1.21),
    RegionSpec("azure", "northeurope", _az("northeurope"), 1.12),
)


def by_cloud(cloud: str) -> tuple[TypeSpec, ...]:
    """All catalog instance types of one cloud ("aws" | "gcp" | "azure")."""
    return tuple(t for t in INSTANCE_TYPES if t.cloud == cloud)
