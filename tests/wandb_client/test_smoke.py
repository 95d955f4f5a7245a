"""The client signs in against cairn server and sees its own default entity."""

from __future__ import annotations

from tests.wandb_client.conftest import WandbClient


def test_api_viewer_is_the_keys_user(wandb_client: WandbClient) -> None:
    got = wandb_client.run(
        """
        import wandb
        api = wandb.Api()
        emit({"entity": api.default_entity, "user": api.viewer.username})
        """
    ).result
    assert got == {"entity": wandb_client.entity, "user": wandb_client.entity}
