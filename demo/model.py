"""The small CNN of the Reuse Lens demo: five conv blocks (conv + batch norm + ReLU), then a
linear classifier. Open this file after running an analysis: Reuse Lens puts its verdicts on
the lines that define the layers and on the load_state_dict call below."""
import torch
from torch import nn


class ShapeNet(nn.Module):
    def __init__(self, num_classes: int):
        super().__init__()
        # Early blocks: edge and colour detectors, which any shape task needs.
        self.conv1 = nn.Conv2d(3, 16, kernel_size=3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.conv2 = nn.Conv2d(16, 32, kernel_size=3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(32)
        self.conv3 = nn.Conv2d(32, 32, kernel_size=3, padding=1, bias=False)
        self.bn3 = nn.BatchNorm2d(32)
        # Late blocks: combinations of parts, specific to the task they were trained on.
        self.conv4 = nn.Conv2d(32, 64, kernel_size=3, padding=1, bias=False)
        self.bn4 = nn.BatchNorm2d(64)
        self.conv5 = nn.Conv2d(64, 64, kernel_size=3, padding=1, bias=False)
        self.bn5 = nn.BatchNorm2d(64)
        self.fc = nn.Linear(64, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.bn1(self.conv1(x)))
        x = torch.max_pool2d(torch.relu(self.bn2(self.conv2(x))), 2)
        x = torch.max_pool2d(torch.relu(self.bn3(self.conv3(x))), 2)
        x = torch.max_pool2d(torch.relu(self.bn4(self.conv4(x))), 2)
        x = torch.relu(self.bn5(self.conv5(x)))
        x = torch.flatten(torch.nn.functional.adaptive_avg_pool2d(x, 1), 1)
        return self.fc(x)


def load_pretrained(path: str, num_classes: int) -> ShapeNet:
    """A ShapeNet for a new task, starting from a checkpoint trained on another one. The
    classifier head is left out when its number of classes differs."""
    model = ShapeNet(num_classes)
    state = torch.load(path, map_location="cpu")
    own = model.state_dict()
    state = {k: v for k, v in state.items() if k in own and own[k].shape == v.shape}
    model.load_state_dict(state, strict=False)
    return model


def build_target_model() -> ShapeNet:
    """The target task's model, untrained: the factory Reuse Lens's replacement experiment builds
    once and loads checkpoints into (Reuse Lens: Run Replacement Experiment)."""
    return ShapeNet(num_classes=4)
