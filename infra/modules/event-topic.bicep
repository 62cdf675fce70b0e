// The subscription's Event Grid system topic (Microsoft.Resources.Subscriptions), whose resource-write events
// tell kiln about new gallery image versions. Only one such topic may exist per subscription: with create =
// false an existing one is used, and it must have a system-assigned identity (for dead-lettering).
param create bool
param name string
param tags object

resource created 'Microsoft.EventGrid/systemTopics@2025-02-15' = if (create) {
  name: name
  location: 'global'
  tags: tags
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    source: subscription().id
    topicType: 'Microsoft.Resources.Subscriptions'
  }
}

resource reused 'Microsoft.EventGrid/systemTopics@2025-02-15' existing = if (!create) {
  name: name
}

output name string = name
output principalId string = create ? created!.identity.principalId : reused!.identity.principalId
